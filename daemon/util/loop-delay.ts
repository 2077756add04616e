/**
 * How often the event-loop delay is sampled (perf_hooks.monitorEventLoopDelay's resolution), by
 * each of its readers: the stats collector (the dashboard's loop delay), /metrics (prom-client's
 * nodejs_eventloop_lag_*) and the systemd watchdog.
 *
 * Every sample is a timer that wakes the process. At 20 ms they woke an idle daemon 51 times a
 * second, which was most of its idle CPU (0.45 % of a core); a wake-up from an idle core costs
 * ~0.1 ms of CPU on the 2-vCPU VM the benchmarks run on, so at real-time speed that was also ~7 %
 * of the daemon's CPU (issue #16). At 100 ms a stall shorter than the period can fall between two
 * samples (one of d ms is seen with probability d/100); the stalls these figures are for, an
 * inference or a synchronous read holding the loop, still show in p99 and max, and the watchdog's
 * limit is seconds.
 */
export const LOOP_DELAY_RESOLUTION_MS = 100;
