import { describe, expect, it } from 'vitest';
import {
  dataLossMessage,
  describeLostRanges,
  SourceDataLostError,
  type LostRange,
} from '../../src/domain/data-loss.js';
import { isSluiceError } from '../../src/domain/errors.js';

const orders2: LostRange = { topic: 'orders', partition: 2, committed: '120', earliest: '500' };
const orders5: LostRange = { topic: 'orders', partition: 5, committed: '7', earliest: '8' };

describe('SourceDataLostError', () => {
  it('names the partition, the range that is gone and where a resume accepting it goes on', () => {
    const err = new SourceDataLostError('orders', [orders2]);
    expect(isSluiceError(err, 'SLUICE_SOURCE_DATA_LOST')).toBe(true);
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(
      'Records of orders-2 at offsets 120..499 were deleted (retention or deleteRecords) while job "orders" was stopped; resuming would skip them. ' +
        'Resume with --accept-data-loss to go on from offset 500, or restore the data.',
    );
    expect(err.toJSON().details).toEqual({
      job: 'orders',
      when: 'stopped',
      partitions: [{ topic: 'orders', partition: 2, committed: '120', earliest: '500' }],
    });
  });

  it('names every partition, a single lost record by its offset, and where each goes on', () => {
    expect(describeLostRanges([orders2, orders5])).toBe(
      'orders-2 at offsets 120..499 and orders-5 at offset 7',
    );
    expect(describeLostRanges([orders5, orders2, { ...orders2, topic: 'refunds' }])).toBe(
      'orders-5 at offset 7, orders-2 at offsets 120..499 and refunds-2 at offsets 120..499',
    );
    expect(dataLossMessage('orders', [orders2, orders5])).toContain(
      "go on from each partition's earliest offset (orders-2: 500, orders-5: 8)",
    );
  });
});
