// Kafka's Java consumer in the blocked-handler scenario of
// bench/blocked/compare.ts: subscribes, and the handler of the first
// non-empty poll blocks the polling thread (Thread.sleep) for BLOCK_MS before
// committing it synchronously; then polls on for FOLLOW_MS. Prints one JSON
// line per event with `at` = System.currentTimeMillis(), as sluice's test
// member (tests/fixtures/group_member.ts) does.
//
//   java -cp "$LIBS/*" BlockingMember.java BOOTSTRAP TOPIC GROUP SESSION_MS MAX_POLL_MS BLOCK_MS FOLLOW_MS

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

public class BlockingMember {
  static void emit(String event, String extra) {
    System.out.println("{\"event\":\"" + event + "\"" + extra + ",\"at\":" + System.currentTimeMillis() + "}");
    System.out.flush();
  }

  static String parts(Collection<TopicPartition> ps) {
    StringBuilder sb = new StringBuilder(",\"partitions\":[");
    boolean first = true;
    for (TopicPartition p : ps) {
      if (!first) sb.append(',');
      sb.append('"').append(p.topic()).append('-').append(p.partition()).append('"');
      first = false;
    }
    return sb.append(']').toString();
  }

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("group.id", args[2]);
    props.put("session.timeout.ms", args[3]);
    props.put("heartbeat.interval.ms", "500");
    props.put("max.poll.interval.ms", args[4]);
    props.put("enable.auto.commit", "false");
    props.put("auto.offset.reset", "earliest");
    props.put("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    props.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    long blockMs = Long.parseLong(args[5]);
    long followMs = Long.parseLong(args[6]);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(List.of(args[1]), new ConsumerRebalanceListener() {
        public void onPartitionsAssigned(Collection<TopicPartition> ps) { emit("assigned", parts(ps)); }
        public void onPartitionsRevoked(Collection<TopicPartition> ps) { if (!ps.isEmpty()) emit("revoked", parts(ps)); }
        public void onPartitionsLost(Collection<TopicPartition> ps) { emit("lost", parts(ps)); }
      });
      emit("ready", "");
      boolean blocked = false;
      long end = Long.MAX_VALUE;
      while (System.currentTimeMillis() < end) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
        if (records.isEmpty() || blocked) {
          if (!records.isEmpty()) consumer.commitSync();
          continue;
        }
        blocked = true;
        emit("blocking", ",\"records\":" + records.count());
        Thread.sleep(blockMs);
        try {
          consumer.commitSync();
          emit("acked", ",\"ok\":true");
        } catch (Exception e) {
          emit("acked", ",\"ok\":false,\"error\":\"" + e.getClass().getSimpleName() + "\"");
        }
        end = System.currentTimeMillis() + followMs;
      }
      emit("closed", "");
    }
  }
}
