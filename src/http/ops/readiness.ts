/** Where the process is in its life; /readyz answers 200 only when `ready`. */
export type ReadinessState = 'starting' | 'ready' | 'draining';

/** Shared by the probes, the request hooks and the drain. Moves forward only. */
export class Readiness {
  private current: ReadinessState = 'starting';

  get state(): ReadinessState {
    return this.current;
  }

  get draining(): boolean {
    return this.current === 'draining';
  }

  ready(): void {
    if (this.current === 'starting') this.current = 'ready';
  }

  drain(): void {
    this.current = 'draining';
  }
}
