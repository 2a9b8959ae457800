/** The middle value (the upper one of an even count), as every proxy-bench figure has used. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
