/** The C library family on Linux, which decides the prebuilt package (gnu or musl) to load. */
export function familySync(): 'glibc' | 'musl' | null {
  if (process.platform !== 'linux') return null;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string }; sharedObjects?: string[] } | undefined;
  if (report?.header?.glibcVersionRuntime) return 'glibc';
  if (report?.sharedObjects?.some((so) => so.includes('musl'))) return 'musl';
  return null;
}
