// Errors of the API as typed classes, made from the metav1.Status the server answered with.
import type { Status, StatusCause } from './meta.js';

/** A request the API refused or failed: the Status's code, reason and message. */
export class MboxApiError extends Error {
  /** HTTP status code (Status.code), 0 when there was no HTTP answer. */
  readonly code: number;
  /** Status.reason, for example NotFound, AlreadyExists, Forbidden, Invalid. */
  readonly reason: string;
  /** The whole Status the server sent (or one made from the HTTP answer when it sent none). */
  readonly status: Status;
  constructor(status: Status) {
    super(status.message || status.reason || `request failed with HTTP ${status.code ?? 0}`);
    this.name = new.target.name;
    this.code = status.code ?? 0;
    this.reason = status.reason ?? '';
    this.status = status;
  }
}

/** 404: the object (or the path in a sandbox) is not there. */
export class NotFoundError extends MboxApiError {}
/** 409: a conflict, an object that already exists, or a sandbox that is not Running. */
export class ConflictError extends MboxApiError {}
/** 403: the caller's role does not allow it. */
export class ForbiddenError extends MboxApiError {}
/** 401: the caller was not authenticated. */
export class UnauthorizedError extends MboxApiError {}
/** 422: the object is invalid; causes lists each field and what is wrong with it. */
export class InvalidError extends MboxApiError {
  get causes(): StatusCause[] {
    return this.status.details?.causes ?? [];
  }
}
/** 410: a watch's resourceVersion is too old (the SDK's watches relist by themselves). */
export class GoneError extends MboxApiError {}
/** 429: a limit (sessions, long-running requests) was reached; retryAfterSeconds says when to try again. */
export class TooManyRequestsError extends MboxApiError {
  get retryAfterSeconds(): number | undefined {
    return this.status.details?.retryAfterSeconds;
  }
}

/** The typed error for a Status: by its code, else by its reason. */
export function errorFromStatus(status: Status): MboxApiError {
  const byReason: Record<string, number> = {
    NotFound: 404,
    AlreadyExists: 409,
    Conflict: 409,
    Forbidden: 403,
    Unauthorized: 401,
    Invalid: 422,
    Gone: 410,
    Expired: 410,
    TooManyRequests: 429,
  };
  const code = status.code || byReason[status.reason ?? ''] || 0;
  const s: Status = { ...status, code };
  switch (code) {
    case 404:
      return new NotFoundError(s);
    case 409:
      return new ConflictError(s);
    case 403:
      return new ForbiddenError(s);
    case 401:
      return new UnauthorizedError(s);
    case 422:
      return new InvalidError(s);
    case 410:
      return new GoneError(s);
    case 429:
      return new TooManyRequestsError(s);
    default:
      return new MboxApiError(s);
  }
}

/**
 * The typed error for an HTTP answer that is not a success: its body parsed as a Status when it is one,
 * else a Status made from the code and the body's text (at most 1 KiB of it).
 */
export function errorFromResponse(code: number, body: string, retryAfter?: string | null): MboxApiError {
  let status: Status | undefined;
  try {
    const parsed = JSON.parse(body) as Status;
    if (parsed && typeof parsed === 'object' && (parsed.kind === 'Status' || parsed.status === 'Failure'))
      status = parsed;
  } catch {
    // not JSON: the text below
  }
  status ??= { status: 'Failure', message: `HTTP ${code}: ${body.slice(0, 1024).trim()}` };
  status.code ||= code;
  if (retryAfter && status.details?.retryAfterSeconds === undefined) {
    const secs = Number(retryAfter);
    if (Number.isFinite(secs)) status.details = { ...status.details, retryAfterSeconds: secs };
  }
  return errorFromStatus(status);
}
