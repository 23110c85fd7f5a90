import { driftTripReason, driftTripSuppressedReason } from '../../../src/domain/breaker/breakerReasons';

/** The original formatted these with Python f-strings over floats (docs/domain.md §3). */
describe('drift trip reason', () => {
  it('rounds the score to 4 places as Python does: exact ties to even, not up', () => {
    // 0.28125 = 9/32 and 0.03125 = 1/32 are exact doubles, so they are true ties at 4 places.
    expect(driftTripReason(0.28125, 0.2)).toBe('Drift exceeded threshold: 0.2812 > 0.2');
    expect(driftTripReason(0.03125, 0.02)).toBe('Drift exceeded threshold: 0.0312 > 0.02');
    expect(driftTripReason(0.84375, 0.2)).toBe('Drift exceeded threshold: 0.8438 > 0.2');
    // Not a tie: 0.30005 is stored a little below, so it rounds down in both languages.
    expect(driftTripReason(0.30005, 0.2)).toBe('Drift exceeded threshold: 0.3000 > 0.2');
  });

  it('prints the threshold as Python prints a float', () => {
    expect(driftTripReason(1, 0.2)).toBe('Drift exceeded threshold: 1.0000 > 0.2');
    expect(driftTripReason(0.5, 0)).toBe('Drift exceeded threshold: 0.5000 > 0.0');
    expect(driftTripReason(0.5, 1e-5)).toBe('Drift exceeded threshold: 0.5000 > 1e-05');
  });

  it('a suppressed trip keeps the same text', () => {
    expect(driftTripSuppressedReason(0.28125, 0.2)).toBe(
      'Drift exceeded threshold: 0.2812 > 0.2 (auto-disable is off; V2 stays enabled)',
    );
  });
});
