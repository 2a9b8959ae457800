/** `69_600_000` -> `70M`, `123_456` -> `123k`, `3_456` -> `3.5k`, `950` -> `950`. */
export function humanizeCount(count: number): string {
  const units: readonly (readonly [number, string])[] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (let i = 0; i < units.length; i++) {
    const [size, suffix] = units[i]!;
    if (count < size) continue;
    const value = count / size;
    const text = value >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
    // 999_950 would print as 1000k: move up a unit instead.
    if (Number(text) >= 1000 && i > 0) {
      const [upSize, upSuffix] = units[i - 1]!;
      return `${Math.round((count / upSize) * 10) / 10}${upSuffix}`;
    }
    return `${text}${suffix}`;
  }
  return String(Math.round(count));
}
