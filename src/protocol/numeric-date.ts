/** RFC 7519 §2 NumericDate: whole seconds since the epoch, the default clock of every component. */
export function currentNumericDate(): number {
  return Math.floor(Date.now() / 1000);
}
