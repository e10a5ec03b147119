/**
 * The transport-free HTTP model: request view, response builder, HTTP errors.
 * @module
 */

export { HttpError, isHttpError } from './http-error';
export type { HttpErrorOptions } from './http-error';
export { Request } from './request';
export type { BodySource, HttpVersion, RequestOptions } from './request';
export { DEFAULT_MULTIPART_LIMITS, FormFile, parseMultipart } from './multipart';
export type { FormField, FormPart, MultipartLimits, SavedFile } from './multipart';
export { collectForm } from './form-data';
export type { CollectedFile, CollectedForm, CollectFormOptions } from './form-data';
export { CookieSigner, MIN_SECRET_LENGTH } from './signed-cookie';
export { Response } from './response';
export type { BodyInput, ResponseStream, ResponseTarget } from './response';
export type { CookieOptions } from './cookie';
export { serializeCookie } from './cookie';
export type { HeaderInput } from './header-map';
export type { MultiValueRecord } from './parse';
export type { ReplySink } from './sink';
export { statusText } from '../protocol/status-text';
