// Prints one line per constant of Kafka's org.apache.kafka.common.protocol.Errors
// enum: "<code> <name> <retriable>", where retriable is true when the exception
// the enum builds for that code is a RetriableException (NONE builds none: false).
//
// Run with Java's single-file launcher, the kafka-clients jar (and slf4j-api)
// on the class path:
//   java -cp "$SLUICE_KAFKA_LIBS/*" scripts/kafka/ErrorsDump.java
// src/protocol/error_codes_kafka_test.ts compares the output with our table.

import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.protocol.Errors;

public class ErrorsDump {
  public static void main(String[] args) {
    StringBuilder out = new StringBuilder();
    for (Errors error : Errors.values()) {
      ApiException exception = error.exception();
      boolean retriable = exception instanceof RetriableException;
      out.append(error.code()).append(' ').append(error.name()).append(' ')
          .append(retriable).append('\n');
    }
    System.out.print(out);
  }
}
