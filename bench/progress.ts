/** Where the bench writes: the table on `out`, progress lines on `err`. */
export interface BenchIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const processIo: BenchIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** A progress reporter that prefixes each line and the elapsed seconds. */
export function progressReporter(io: BenchIo): (message: string) => void {
  const start = performance.now();
  return (message) => {
    const s = ((performance.now() - start) / 1000).toFixed(1).padStart(5);
    io.err(`[bench ${s}s] ${message}\n`);
  };
}
