import type { PartitionAssigner } from 'kafkajs';
import kafkajs from './loader.js';

/**
 * The `one-member` assignment of the port (ConsumerOptions.assignment): every partition of
 * every subscribed topic goes to the first member by id, and the others get nothing and stand
 * by. The coordinator's election reads its commands and its workers' reports from two topics;
 * kafkajs's round robin would deal them to two members, and the member that is not elected
 * would hold the reports. Every member of the group must use this protocol: Kafka refuses a
 * member whose protocols share none with the group (INCONSISTENT_GROUP_PROTOCOL).
 */
export const oneMemberAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'SluiceOneMember',
  version: 0,
  assign({ members, topics }) {
    const ids = members.map((m) => m.memberId).sort();
    const first = ids[0];
    const all: Record<string, number[]> = {};
    for (const topic of [...topics].sort())
      all[topic] = cluster
        .findTopicPartitionMetadata(topic)
        .map((m) => m.partitionId)
        .sort((a, b) => a - b);
    return Promise.resolve(
      ids.map((memberId) => ({
        memberId,
        memberAssignment: kafkajs.AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: memberId === first ? all : {},
          userData: Buffer.alloc(0),
        }),
      })),
    );
  },
  protocol({ topics }) {
    return {
      name: 'SluiceOneMember',
      metadata: kafkajs.AssignerProtocol.MemberMetadata.encode({
        version: 0,
        topics,
        userData: Buffer.alloc(0),
      }),
    };
  },
});
