/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). Shared by the server and the resource-server library. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
