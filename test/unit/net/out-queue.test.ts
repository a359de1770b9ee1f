import { describe, expect, it } from 'bun:test';
import type { Socket } from 'bun';
import { OutQueue } from '../../../src/net/out-queue.ts';

/** A socket whose kernel buffer takes `room` bytes until drained. */
function fakeSocket(room: number) {
  const sent: number[] = [];
  const socket = {
    room,
    write(bytes: Uint8Array, offset = 0, length = bytes.length - offset): number {
      const n = Math.min(length, socket.room);
      socket.room -= n;
      for (let i = 0; i < n; i++) sent.push(bytes[offset + i]!);
      return n;
    },
  };
  return { socket, sent, asSocket: socket as unknown as Socket<unknown> };
}

describe('OutQueue.adoptPending', () => {
  it('sends the bytes the previous queue still held before its own, in order', () => {
    const { socket, sent, asSocket } = fakeSocket(2);
    const states: boolean[] = [];
    const first = new OutQueue(asSocket, (isFull) => states.push(isFull));
    first.write(new Uint8Array([1, 2, 3, 4]));
    const second = new OutQueue(asSocket, (isFull) => states.push(isFull));
    second.adoptPending(first);
    expect(first.bufferedBytes).toBe(0);
    second.write(new Uint8Array([5, 6]));
    socket.room = 100;
    second.drain();
    expect(sent).toEqual([1, 2, 3, 4, 5, 6]);
    expect(states).toEqual([true, false]);
  });
});
