// The part of autocannon's API that bench/load.bench.ts uses (the package ships no types).
declare module 'autocannon' {
  interface Client {
    setHeaders(headers: Record<string, string>): void;
  }
  interface RequestParams {
    method?: string;
    path?: string;
    body?: string;
    headers?: Record<string, string>;
  }
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    timeout?: number;
    headers?: Record<string, string>;
    setupClient?: (client: Client) => void;
    requests?: Array<RequestParams & { setupRequest?: (req: RequestParams) => RequestParams }>;
  }
  interface Result {
    errors: number;
    timeouts: number;
    /** `sent`: every request issued, answered or not. */
    requests: { sent: number };
  }
  interface Instance {
    on(event: 'response', listener: (client: Client, statusCode: number, resBytes: number, responseTime: number) => void): void;
  }
  function autocannon(opts: Options, done: (err: Error | null, result: Result) => void): Instance;
  export default autocannon;
}
