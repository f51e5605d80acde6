/**
 * Where the Kafka timestamps of a real-broker test's input start: two hours ago, on the minute.
 * Not a fixed date: the broker's time-based retention (retention.ms, a week by default) deletes
 * records by their timestamps, not by when they were written, at its next check (every five
 * minutes). A test's input stamped in 2023 was deleted mid-run whenever a check fell inside it,
 * before the job read all of it (the stream join's lost pairs, issue 19). Not in the future
 * either, where a broker's message.timestamp.after.max.ms would refuse it.
 */
export const RECENT_T0 = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000;
