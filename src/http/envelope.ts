export interface SuccessEnvelope<T> {
  success: true;
  statusCode: number;
  message: string;
  data: T;
  meta?: { limit: number; nextCursor?: string };
}

export interface ErrorEnvelope {
  success: false;
  statusCode: number;
  error: string;
  code: string;
  details?: Record<string, unknown>;
}

export const ok = <T>(statusCode: number, message: string, data: T): SuccessEnvelope<T> => ({
  success: true,
  statusCode,
  message,
  data,
});

export const failure = (
  statusCode: number,
  code: string,
  error: string,
  details?: Record<string, unknown>,
): ErrorEnvelope => ({ success: false, statusCode, error, code, ...(details ? { details } : {}) });
