package dev.sluice.bench.peers;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The Kafka Streams peer of test/bench/peers/pipelines.ts, for `npm run bench:peers`. Reads JSON
 * records {"k": "key-123", "n": 7} (record key = k) and runs one topology:
 *
 * <ul>
 *   <li>{@code map}: the value with {@code n2 = n * 2} added, same key;
 *   <li>{@code rekey-aggregate}: {@code groupBy((key, r) -> r.k)} (a repartition), then a running
 *       total of n per key;
 *   <li>{@code key-aggregate}: {@code groupByKey()} (no repartition), then the same total;
 *   <li>{@code windowed-count}: {@code groupByKey()}, then a count per key in tumbling 10 s
 *       windows of the record timestamps, suppressed until each window closes, written as
 *       {"key", "start", "end", "value"}.
 *   <li>{@code table-join}: each record joined, by its key, with the {@code GlobalKTable} of the
 *       topic named by --table (values {"tier": ...}), the value with the entry's tier added.
 * </ul>
 *
 * Totals are written as {"key": k, "value": total} keyed by k, the shape of a Sluice aggregate's
 * output. Prints one line {@code RUNNING} on stdout when the instance first reaches RUNNING, logs
 * only warnings (stderr), and closes the streams on SIGTERM.
 *
 * <p>Flags: --topology, --input, --output, --table (table-join only), --bootstrap, --app-id, --guarantee (exactly_once_v2 |
 * at_least_once), --cache-bytes (statestore.cache.max.bytes; absent = Kafka Streams' default, 0 =
 * every update emitted), --threads (num.stream.threads, default 1), --state-dir (default: a
 * temporary folder, removed on exit).
 */
public final class PeerApp {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** An input record. */
  public record Rec(String k, long n) {}

  private PeerApp() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parse(argv);
    String topology = required(args, "topology");
    String input = required(args, "input");
    String output = required(args, "output");
    String appId = required(args, "app-id");
    // The caller's folder when given (it removes it, even after a SIGKILL), else a temporary one
    // removed on exit.
    boolean ownDir = !args.containsKey("state-dir");
    Path stateDir =
        ownDir ? Files.createTempDirectory("peer-app-") : Path.of(args.get("state-dir"));

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, required(args, "bootstrap"));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, required(args, "guarantee"));
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, args.getOrDefault("threads", "1"));
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    if (args.containsKey("cache-bytes"))
      props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, args.get("cache-bytes"));
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);

    KafkaStreams streams =
        new KafkaStreams(build(topology, input, output, args.get("table")), props);
    CountDownLatch stopped = new CountDownLatch(1);
    AtomicBoolean announced = new AtomicBoolean(false);
    AtomicBoolean closing = new AtomicBoolean(false);
    streams.setStateListener(
        (now, before) -> {
          if (now == KafkaStreams.State.RUNNING && announced.compareAndSet(false, true)) {
            System.out.println("RUNNING");
            System.out.flush();
          }
          if (now == KafkaStreams.State.ERROR
              || (now == KafkaStreams.State.PENDING_SHUTDOWN && !closing.get())) {
            System.err.println("peer-app: streams went " + before + " -> " + now);
          }
          if (now == KafkaStreams.State.ERROR) stopped.countDown();
        });
    streams.setUncaughtExceptionHandler(
        (Throwable e) -> {
          System.err.println("peer-app: stream thread failed: " + e);
          e.printStackTrace(System.err);
          return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  closing.set(true);
                  streams.close(Duration.ofSeconds(30));
                  if (ownDir) deleteTree(stateDir);
                  stopped.countDown();
                },
                "peer-app-shutdown"));
    streams.start();
    stopped.await();
    if (streams.state() == KafkaStreams.State.ERROR) {
      streams.close(Duration.ofSeconds(10));
      if (ownDir) deleteTree(stateDir);
      System.exit(1);
    }
  }

  static Topology build(String topology, String input, String output, String table) {
    StreamsBuilder builder = new StreamsBuilder();
    KStream<String, String> in = builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()));
    switch (topology) {
      case "map" ->
          in.mapValues(PeerApp::doubled).to(output, Produced.with(Serdes.String(), Serdes.String()));
      case "rekey-aggregate" -> {
        KStream<String, Rec> recs = in.mapValues(PeerApp::rec);
        // groupBy changes the key: Kafka Streams writes the records to a repartition topic.
        total(recs.groupBy((key, r) -> r.k(), Grouped.with(Serdes.String(), recSerde())), output);
      }
      case "key-aggregate" -> {
        KStream<String, Rec> recs = in.mapValues(PeerApp::rec);
        // The record key already is k: grouped in place, no repartition.
        total(recs.groupByKey(Grouped.with(Serdes.String(), recSerde())), output);
      }
      case "windowed-count" ->
          // Per key (the record key already is k) and tumbling 10 s window of the records'
          // timestamps, the count, emitted once when the window closes (stream time past its
          // end, no grace), as Sluice's window stage does by default.
          in.groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
              .windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofSeconds(10)))
              .count(Materialized.with(Serdes.String(), Serdes.Long()))
              .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
              .toStream()
              .map(
                  (w, count) ->
                      KeyValue.pair(
                          w.key(),
                          "{\"key\":"
                              + JSON.valueToTree(w.key())
                              + ",\"start\":"
                              + w.window().start()
                              + ",\"end\":"
                              + w.window().end()
                              + ",\"value\":"
                              + count
                              + "}"))
              .to(output, Produced.with(Serdes.String(), Serdes.String()));
      case "table-join" -> {
        // Read whole by every instance, as Sluice's joinTable reads its table in every task.
        GlobalKTable<String, String> customers =
            builder.globalTable(table, Consumed.with(Serdes.String(), Serdes.String()));
        in.join(customers, (key, v) -> key, PeerApp::withTier)
            .to(output, Produced.with(Serdes.String(), Serdes.String()));
      }
      default ->
          throw new IllegalArgumentException(
              "--topology must be map, rekey-aggregate, key-aggregate, windowed-count or table-join, not "
                  + topology);
    }
    return builder.build();
  }

  /** A running total of n per key, every emitted update written as {"key": k, "value": total}. */
  private static void total(KGroupedStream<String, Rec> grouped, String output) {
    grouped
        .aggregate(
            () -> 0L,
            (key, r, total) -> total + r.n(),
            Materialized.with(Serdes.String(), Serdes.Long()))
        .toStream()
        .mapValues((key, total) -> keyed(key, total))
        .to(output, Produced.with(Serdes.String(), Serdes.String()));
  }

  private static String doubled(String json) {
    try {
      ObjectNode o = (ObjectNode) JSON.readTree(json);
      o.put("n2", o.get("n").asLong() * 2);
      return JSON.writeValueAsString(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String withTier(String json, String entry) {
    try {
      ObjectNode o = (ObjectNode) JSON.readTree(json);
      o.put("tier", JSON.readTree(entry).get("tier").asText());
      return JSON.writeValueAsString(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Rec rec(String json) {
    try {
      return JSON.readValue(json, Rec.class);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String keyed(String key, Long total) {
    ObjectNode o = JSON.createObjectNode();
    o.put("key", key);
    o.put("value", total);
    try {
      return JSON.writeValueAsString(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Records as JSON on the repartition topic, as they came in. */
  private static Serde<Rec> recSerde() {
    Serializer<Rec> ser =
        (topic, r) -> {
          try {
            return r == null ? null : JSON.writeValueAsBytes(r);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        };
    Deserializer<Rec> de =
        (topic, bytes) -> {
          try {
            return bytes == null ? null : JSON.readValue(bytes, Rec.class);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        };
    return Serdes.serdeFrom(ser, de);
  }

  private static Map<String, String> parse(String[] argv) {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      if (!a.startsWith("--") || i + 1 >= argv.length)
        throw new IllegalArgumentException("expected --name value pairs, got " + a);
      args.put(a.substring(2), argv[++i]);
    }
    return args;
  }

  private static String required(Map<String, String> args, String name) {
    String v = args.get(name);
    if (v == null || v.isEmpty()) throw new IllegalArgumentException("--" + name + " is required");
    return v;
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      // A leftover temp folder is harmless.
    }
  }
}
