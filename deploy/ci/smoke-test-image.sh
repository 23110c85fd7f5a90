#!/usr/bin/env bash
# Smoke test of the container image (docs/deploy.md "Container image"): run it against a PostgreSQL, wait
# for GET /health/ready, check it runs as the unprivileged user and that its HEALTHCHECK turns healthy.
#
#   deploy/ci/smoke-test-image.sh IMAGE DATABASE_URL
#
# The container shares the host's network (the database is usually a CI service container on
# 127.0.0.1:5432); the service listens on PORT (default 18000).
set -euo pipefail

image="${1:?usage: smoke-test-image.sh IMAGE DATABASE_URL}"
database_url="${2:?usage: smoke-test-image.sh IMAGE DATABASE_URL}"
port="${PORT:-18000}"
name="costsim-smoke-$$"
# An admin key made up for this run only (the service binds 0.0.0.0 only when keys are configured).
key="smoke-$(date +%s)-$$"
key_sha256="$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)"

cleanup() {
  docker logs "$name" >"smoke-test-$name.log" 2>&1 || true
  docker rm -f "$name" >/dev/null 2>&1 || true
}
trap cleanup EXIT

user="$(docker image inspect --format '{{.Config.User}}' "$image")"
if [ "$user" != "node" ]; then
  echo "image runs as '$user', expected the unprivileged user 'node'" >&2
  exit 1
fi

docker run -d --name "$name" --network host \
  -e DATABASE_URL="$database_url" \
  -e PORT="$port" \
  -e INSTANCE_ID=smoke \
  -e COSTSIM_API_KEYS="[{\"id\":\"smoke\",\"key_sha256\":\"$key_sha256\",\"tenant_id\":null,\"scopes\":[\"admin\"]}]" \
  "$image" >/dev/null

ready=""
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then
    ready=yes
    break
  fi
  sleep 1
done
if [ -z "$ready" ]; then
  echo "GET /health/ready did not answer 200 within 60 s:" >&2
  docker logs "$name" >&2 || true
  exit 1
fi
echo "== /health/ready: $(curl -fsS "http://127.0.0.1:$port/health/ready")"

# The API answers with the key, refuses without it; /metrics answers without one.
curl -fsS -H "Authorization: Bearer $key" "http://127.0.0.1:$port/costsim/breakers/costsim_v2" >/dev/null
status="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/costsim/breakers/costsim_v2")"
if [ "$status" != "401" ]; then
  echo "GET /costsim/breakers/costsim_v2 without a key answered $status, expected 401" >&2
  exit 1
fi
curl -fsS "http://127.0.0.1:$port/metrics" | grep -q '^costsim_projector_leader'

# The image's own HEALTHCHECK (every 10 s) reports healthy.
health=""
for _ in $(seq 1 60); do
  health="$(docker inspect --format '{{.State.Health.Status}}' "$name")"
  [ "$health" = "healthy" ] && break
  sleep 1
done
if [ "$health" != "healthy" ]; then
  echo "HEALTHCHECK status is '$health' after 60 s" >&2
  exit 1
fi
echo "== image $image: ready, runs as $user, HEALTHCHECK healthy"
