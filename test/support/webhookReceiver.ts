import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One alert of an Alertmanager webhook notification (webhook_config payload version 4). */
export interface NotifiedAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

export interface WebhookNotification {
  version: string;
  status: 'firing' | 'resolved';
  receiver: string;
  alerts: NotifiedAlert[];
}

export interface WebhookReceiver {
  url: string;
  /** Every notification received so far, in order of arrival. */
  notifications: WebhookNotification[];
  /** Every alert of every notification, flattened. */
  alerts(): NotifiedAlert[];
  stop(): Promise<void>;
}

/**
 * An HTTP server on a loopback port that records what Alertmanager's webhook receiver posts: what an
 * on-call's pager would have been sent. Answers 200 to every POST.
 */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const notifications: WebhookNotification[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.method === 'POST') notifications.push(JSON.parse(body) as WebhookNotification);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    notifications,
    alerts: () => notifications.flatMap((n) => n.alerts),
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
