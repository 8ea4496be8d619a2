/**
 * DescribeConfigs / IncrementalAlterConfigs resource type codes (Kafka's
 * `ConfigResource.Type`), for the resources sluice describes or changes:
 * topics, brokers, and groups (KIP-848 group configs, Kafka 4.0+).
 *
 * @module
 */

/** Resource type code by resource kind. */
export const CONFIG_RESOURCE_TYPES = { topic: 2, broker: 4, group: 32 } as const;
