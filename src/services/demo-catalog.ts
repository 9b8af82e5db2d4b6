import type { NewProduct } from '../domain/types.js';

/** The catalog the original hackathon project demoed with; seeded into an empty development store. */
export const DEMO_CATALOG: readonly NewProduct[] = [
  { sku: 'LAPTOP001', productName: 'Premium Laptop Pro', priceMinor: 129_999, onHand: 5, maxPerUser: null },
  { sku: 'PHONE001', productName: 'Flagship Smartphone X', priceMinor: 89_999, onHand: 10, maxPerUser: null },
  { sku: 'HEADSET001', productName: 'Wireless Headphones Pro', priceMinor: 29_999, onHand: 20, maxPerUser: null },
  { sku: 'TABLET001', productName: 'Ultra Tablet Max', priceMinor: 69_999, onHand: 8, maxPerUser: null },
  { sku: 'WATCH001', productName: 'Smart Watch Elite', priceMinor: 39_999, onHand: 15, maxPerUser: null },
  { sku: 'CAMERA001', productName: '4K Mirrorless Camera', priceMinor: 159_999, onHand: 3, maxPerUser: null },
  { sku: 'SPEAKER001', productName: 'Portable Bluetooth Speaker', priceMinor: 14_999, onHand: 25, maxPerUser: null },
  { sku: 'CHARGER001', productName: 'Fast Charging Station', priceMinor: 7_999, onHand: 30, maxPerUser: null },
];
