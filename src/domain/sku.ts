import { DomainError } from './errors.js';

export const SKU_PATTERN = /^[A-Z0-9][A-Z0-9_-]{0,63}$/;

export const normaliseSku = (raw: string): string => raw.trim().toUpperCase();

export const isValidSku = (sku: string): boolean => SKU_PATTERN.test(sku);

/** The one answer to a malformed sku; `field` names where it was, as the request spelled it. */
export const invalidSku = (field: string): DomainError =>
  new DomainError('VALIDATION_ERROR', 'sku must match ^[A-Z0-9][A-Z0-9_-]{0,63}$ (case-insensitive)', {
    errors: [{ field, message: 'invalid sku' }],
  });
