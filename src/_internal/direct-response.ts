/**
 * The response of an event stream on the direct lane (src/_internal/direct-lane.ts): a real
 * `Response` (status and headers its own) whose body is made the first time anyone asks for it
 * (`body`, `text()`, `clone()`, ...). A handler that wraps or reads it gets the Web stream as
 * usual, and the adapter then sends it the Web way; otherwise the adapter takes the
 * {@link DirectBody} behind it, once, and writes it to the socket itself. Either way the `Request`
 * and `Response` objects are garbage once the handler has returned.
 * @internal
 */
import type { DirectBody } from './direct-lane.ts';

/** A status-200 response whose body is `body`, made lazily (see the module comment). */
export function directResponse(body: DirectBody, headers: Headers): Response {
  return new (directResponseClass())(body, headers);
}

/**
 * The body behind a direct response whose body nobody asked for, once: the adapter then writes
 * it. `undefined` for any other response, which goes the Web way.
 */
export function takeDirectBody(response: Response): DirectBody | undefined {
  return DirectResponse !== undefined && response instanceof DirectResponse
    ? response[kTake]()
    : undefined;
}

const kTake: unique symbol = Symbol('ssekit.take');

interface DirectResponse extends Response {
  [kTake](): DirectBody | undefined;
}

type DirectResponseClass = new (body: DirectBody, headers: Headers) => DirectResponse;

let DirectResponse: DirectResponseClass | undefined;

// Made at first use (only the Node adapter's requests need it), from the runtime's `Response`.
// A subclass, so that everything but the body is the real thing: `instanceof`, status, headers.
// The body members are the one part to change, and only the constructor of `Response` can make
// the rest.
function directResponseClass(): DirectResponseClass {
  if (DirectResponse) return DirectResponse;
  class Direct extends Response {
    readonly #body: DirectBody;
    /** The response with the body, made when the body is first asked for. */
    #withBody: Response | undefined;
    #taken = false;

    constructor(body: DirectBody, headers: Headers) {
      super(null, { status: 200, headers });
      this.#body = body;
    }

    [kTake](): DirectBody | undefined {
      if (this.#withBody || this.#taken) return undefined;
      this.#taken = true;
      return this.#body;
    }

    static {
      const withBody = (response: Direct): Response => {
        if (!response.#withBody) {
          if (response.#taken) throw new TypeError('The body of this event stream is being sent.');
          const { headers, status } = response;
          response.#withBody = new Response(response.#body.readable, { headers, status });
        }
        return response.#withBody;
      };
      const prototype = Response.prototype as unknown as Record<string, unknown>;
      const define = (name: string, descriptor: PropertyDescriptor) =>
        Object.defineProperty(Direct.prototype, name, { configurable: true, ...descriptor });
      define('body', {
        get(this: Direct) {
          return withBody(this).body;
        },
      });
      define('bodyUsed', {
        get(this: Direct) {
          return this.#withBody?.bodyUsed ?? this.#taken;
        },
      });
      for (const name of ['arrayBuffer', 'blob', 'bytes', 'clone', 'formData', 'json', 'text']) {
        if (typeof prototype[name] !== 'function') continue;
        define(name, {
          writable: true,
          value(this: Direct, ...args: unknown[]) {
            const response = withBody(this) as unknown as Record<
              string,
              (...args: unknown[]) => unknown
            >;
            return response[name]!.apply(response, args);
          },
        });
      }
    }
  }
  DirectResponse = Direct;
  return Direct;
}
