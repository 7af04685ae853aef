/** Lets timers and abort events run during a long loop. */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
