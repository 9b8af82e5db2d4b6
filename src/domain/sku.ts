export const SKU_PATTERN = /^[A-Z0-9][A-Z0-9_-]{0,63}$/;

export const normaliseSku = (raw: string): string => raw.trim().toUpperCase();

export const isValidSku = (sku: string): boolean => SKU_PATTERN.test(sku);
