import { DomainError } from './errors.js';

export const SKU_PATTERN = /^[A-Z0-9][A-Z0-9_-]{0,63}$/;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * Trims spaces and upper-cases. Only printable ASCII is folded: upper-casing other scripts maps
 * distinct strings onto one sku ("ſpeaker001" to SPEAKER001, "ß" to "SS"), and String#trim
 * strips Unicode spaces such as U+00A0. Anything else is returned as given, so isValidSku refuses it.
 */
export const normaliseSku = (raw: string): string => (PRINTABLE_ASCII.test(raw) ? raw.trim().toUpperCase() : raw);

export const isValidSku = (sku: string): boolean => SKU_PATTERN.test(sku);

/** The one answer to a malformed sku; `field` names where it was, as the request spelled it. */
export const invalidSku = (field: string): DomainError =>
  new DomainError('VALIDATION_ERROR', 'sku must match ^[A-Z0-9][A-Z0-9_-]{0,63}$ (case-insensitive)', {
    errors: [{ field, message: 'invalid sku' }],
  });
