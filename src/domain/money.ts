/** Prices travel as decimals in the API and live as integer minor units (cents) in the store. */
export const MAX_PRICE_MINOR = 9_999_999_999;

export function toMinorUnits(price: number): number | null {
  if (!Number.isFinite(price) || price < 0) return null;
  const minor = Math.round(price * 100);
  // Reject sub-cent precision rather than silently rounding someone's price.
  if (Math.abs(minor - price * 100) > 1e-6 * Math.max(1, price)) return null;
  if (minor > MAX_PRICE_MINOR) return null;
  return minor;
}

export const fromMinorUnits = (minor: number): number => minor / 100;
