/** Tells which TxnOffsetCommit definition is Sluice's, whichever copy of this module made it. */
export const TXN_OFFSET_COMMIT_MARK = Symbol.for('sluice.txnOffsetCommitV3');

/**
 * Where a transaction's offsets carry their consumer group's generation: a property of the
 * `topics` list handed to kafkajs's `sendOffsets`, which passes that very list down to the
 * request unchanged (producer → eosManager → broker → request).
 */
export const GROUP_GENERATION = Symbol.for('sluice.groupGeneration');

/** The group member an offset commit is made for (KIP-447). */
export interface GroupGeneration {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

interface EncoderLike {
  writeInt16(v: number): EncoderLike;
  writeInt32(v: number): EncoderLike;
  writeInt64(v: string | number): EncoderLike;
  writeUVarIntString(v: string | null): EncoderLike;
  writeUVarIntArray(items: EncoderLike[]): EncoderLike;
  writeUVarIntBytes(v?: Buffer): EncoderLike;
}
interface DecoderLike {
  readTaggedFields(): void;
  readInt16(): number;
  readInt32(): number;
  readUVarIntString(): string;
  readUVarIntArray<T>(reader: (d: DecoderLike) => T): T[];
}

interface Topics extends Array<{
  topic: string;
  partitions: { partition: number; offset: string; metadata?: string | null }[];
}> {
  [GROUP_GENERATION]?: GroupGeneration;
}

interface RequestArgs {
  transactionalId: string;
  groupId: string;
  producerId: number | string;
  producerEpoch: number;
  topics: Topics;
}

type Versioned = (args: RequestArgs) => unknown;

interface Definition {
  versions: string[];
  protocol: (o: { version: number }) => Versioned;
}

export interface Codec {
  Encoder: new () => EncoderLike;
  Decoder: new (raw: Buffer) => DecoderLike;
  apiKey: number;
  /** kafkajs's v0 response parse: throws the first partition error. */
  parse: (data: unknown) => Promise<unknown>;
}

/**
 * kafkajs 2.2.4's TxnOffsetCommit, with version 3 added (KIP-447, Kafka 2.5+): the offsets are
 * committed for a group member at a generation, so the group coordinator refuses them
 * (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID) from a member that has lost its
 * partitions in a rebalance: a zombie cannot commit. kafkajs ships versions 0 and 1, which name
 * the group alone. Offsets handed over without a generation are sent as Kafka's clients send
 * them then (generation -1, no member), which the coordinator does not check.
 */
export function withTxnOffsetCommitV3(original: Definition, codec: Codec): Definition {
  const v3: Versioned = ({
    transactionalId,
    groupId,
    producerId,
    producerEpoch,
    topics,
  }: RequestArgs) => {
    const generation = topics[GROUP_GENERATION];
    return {
      request: {
        apiKey: codec.apiKey,
        apiVersion: 3,
        apiName: 'TxnOffsetCommit',
        encode: () =>
          Promise.resolve(
            new codec.Encoder()
              .writeUVarIntBytes() // the request header's tagged fields (flexible versions)
              .writeUVarIntString(transactionalId)
              .writeUVarIntString(groupId)
              .writeInt64(producerId)
              .writeInt16(producerEpoch)
              .writeInt32(generation?.generationId ?? -1)
              .writeUVarIntString(generation?.memberId ?? '')
              .writeUVarIntString(generation?.groupInstanceId ?? null)
              .writeUVarIntArray(
                topics.map(({ topic, partitions }) =>
                  new codec.Encoder()
                    .writeUVarIntString(topic)
                    .writeUVarIntArray(
                      partitions.map(({ partition, offset, metadata }) =>
                        new codec.Encoder()
                          .writeInt32(partition)
                          .writeInt64(offset)
                          .writeInt32(-1) // committed leader epoch: unknown
                          .writeUVarIntString(metadata ?? null)
                          .writeUVarIntBytes(),
                      ),
                    )
                    .writeUVarIntBytes(),
                ),
              )
              .writeUVarIntBytes(),
          ),
      },
      response: {
        decode: (raw: Buffer) => Promise.resolve(decodeV3(codec, raw)),
        parse: codec.parse,
      },
    };
  };
  const definition: Definition = {
    versions: [...original.versions, '3'],
    protocol: ({ version }) => (version === 3 ? v3 : original.protocol({ version })),
  };
  Object.defineProperty(definition, TXN_OFFSET_COMMIT_MARK, { value: true });
  return definition;
}

/** TxnOffsetCommit Response v3: throttle_time_ms [topics: name [partitions: index error_code _] _] _ */
function decodeV3(codec: Codec, raw: Buffer) {
  const decoder = new codec.Decoder(raw);
  decoder.readTaggedFields(); // the response header's (flexible versions)
  const throttleTime = decoder.readInt32();
  const topics = decoder.readUVarIntArray((d) => {
    const topic = d.readUVarIntString();
    const partitions = d.readUVarIntArray((p) => {
      const partition = p.readInt32();
      const errorCode = p.readInt16();
      p.readTaggedFields();
      return { partition, errorCode };
    });
    d.readTaggedFields();
    return { topic, partitions };
  });
  decoder.readTaggedFields();
  return { throttleTime, topics };
}
