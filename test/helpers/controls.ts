/** The first C0 control, DEL or C1 control in `text` (what escapeInput must have escaped), if any. */
export function controlIn(text: string): string | undefined {
  for (const char of text) {
    const c = char.charCodeAt(0);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return undefined;
}

/** Asserts that a message echoes no raw control character. */
export function assertNoControls(message: string, what = ''): void {
  const found = controlIn(message);
  if (found !== undefined)
    throw new Error(`${what}${what ? ': ' : ''}raw ${found} in message: ${JSON.stringify(message)}`);
}
