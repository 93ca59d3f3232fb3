// abstract-level ships its compliance suite (`abstract-level/test`) without typings.
declare module 'abstract-level/test' {
  interface SuiteOptions {
    readonly test: unknown;
    readonly factory: (options?: Record<string, unknown>) => unknown;
  }
  function suite(options: SuiteOptions): void;
  export = suite;
}
