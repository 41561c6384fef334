/** "1 version", "2 versions": a count with its noun in the right number, for texts people read. */
export function counted(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
