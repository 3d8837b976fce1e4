/**
 * What the terminal knows: the styles of text (SGR codes) and how many columns a character takes.
 */

export const BOLD = 1
export const DIM = 2
export const ITALIC = 3
export const UNDERLINE = 4
export const RED = 31
export const GREEN = 32
export const CYAN = 36

/** The text in the given styles; nothing added when there is no style or no text. */
export const ansi = (text: string, codes: ReadonlyArray<number>) =>
  codes.length === 0 || text.length === 0 ? text : `\x1b[${codes.join(";")}m${text}\x1b[0m`

// East Asian wide characters and emoji take two columns of a terminal.
export const charWidth = (char: string): number => {
  const code = char.codePointAt(0) ?? 0
  return (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf && code !== 0x303f) ||
      (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6) || (code >= 0x1f300 && code <= 0x1f64f) ||
      (code >= 0x1f900 && code <= 0x1f9ff) || (code >= 0x20000 && code <= 0x3fffd)
    ? 2
    : 1
}

export const columns = (text: string) => {
  let count = 0
  for (const char of text) count += charWidth(char)
  return count
}
