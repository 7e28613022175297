/** Event-time settings, resolved from the options. */
export interface EventTimeSettings {
  maxOutOfOrdernessMs: number;
  allowedLatenessMs: number;
  idlePartitionTimeoutMs: number;
}

/**
 * The watermark of one partition: the newest event time seen minus the allowed
 * out-of-orderness. It never moves back. An event older than the watermark minus the
 * allowed lateness is late.
 *
 * While the partition receives no event for `idlePartitionTimeoutMs`, its event time is
 * taken to advance with the wall clock from the newest event, so that the watermark, and
 * the windows that wait for it, still move.
 */
export class PartitionClock {
  private newest: number | null = null;
  private floor = -Infinity;
  private lastArrival: number;

  constructor(
    private readonly settings: EventTimeSettings,
    now: number,
  ) {
    this.lastArrival = now;
  }

  /** The watermark in milliseconds since the Unix epoch, or null before any event. */
  get watermark(): number | null {
    if (this.newest === null) return null;
    return Math.max(this.newest - this.settings.maxOutOfOrdernessMs, this.floor);
  }

  /** Windows that end at or before this time are complete; null before any event. */
  get closedBefore(): number | null {
    const watermark = this.watermark;
    return watermark === null ? null : watermark - this.settings.allowedLatenessMs;
  }

  /**
   * Records an event that arrived at wall-clock time `now`. Returns true when it is late,
   * in which case the watermark does not move.
   */
  observe(eventTime: number, now: number): boolean {
    this.lastArrival = now;
    const closedBefore = this.closedBefore;
    if (closedBefore !== null && eventTime < closedBefore) return true;
    if (this.newest === null || eventTime > this.newest) this.newest = eventTime;
    return false;
  }

  /**
   * Moves the watermark of an idle partition with the wall clock. Returns true when it
   * moved.
   */
  advanceIfIdle(now: number): boolean {
    const idleFor = now - this.lastArrival;
    if (this.newest === null || idleFor < this.settings.idlePartitionTimeoutMs) return false;
    const before = this.watermark;
    this.floor = Math.max(this.floor, this.newest + idleFor - this.settings.maxOutOfOrdernessMs);
    return this.watermark !== before;
  }
}
