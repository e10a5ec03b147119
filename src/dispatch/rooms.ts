/**
 * Room membership, held by the dispatcher: it sees every disconnect notice, so a connection that goes
 * away leaves its rooms at once, and it outlives every worker, so a worker restart forgets nothing. Pure data, no
 * sockets: `push-router.ts` feeds it and sends what it decides.
 *
 * A member is one client connection (`UUID:ID`) with the kind its messages are framed for (WebSocket frame, SSE
 * event, raw bytes, or a parked long-poll answered once) and the Mongrel2 server it lives on. Rooms keep their
 * members in join order. A connection may also be known without any room: a watched WebSocket (its handshake is
 * kept to run its `close` handler when the client drops) or an SSE stream that only wants heartbeats.
 * @module
 */
import type { ConnKind } from '../protocol/push-wire';

/** One known connection. */
export class Member {
  readonly rooms = new Set<string>();
  /** SSE heartbeat period (0: none) and when the next one is due. */
  heartbeatMs = 0;
  nextBeat = 0;
  /** A parked poll: when it is answered with `timeoutReply` (0: not parked). */
  deadline = 0;
  timeoutReply: Buffer | undefined;
  /** A watched WebSocket's handshake message. */
  handshake: Buffer | undefined;

  constructor(
    /** `UUID:ID`. */
    readonly key: string,
    readonly uuid: string,
    readonly id: number,
    /** Index of its Mongrel2 in the dispatcher's list. */
    readonly server: number,
    public kind: ConnKind,
  ) {}
}

/** Members of one Mongrel2 server and kind: one Mongrel2 message per 128 of them. */
export interface MemberGroup {
  readonly server: number;
  readonly uuid: string;
  readonly kind: ConnKind;
  readonly ids: number[];
  /** The members themselves (poll members are answered once and then forgotten). */
  readonly members: Member[];
}

/** Options of {@link Registry.join}. */
export interface RegistryJoin {
  readonly heartbeatMs?: number | undefined;
  readonly timeoutMs?: number | undefined;
  readonly timeoutReply?: Buffer | undefined;
}

/** Every known connection and room. */
export class Registry {
  readonly #members = new Map<string, Member>();
  readonly #rooms = new Map<string, Map<string, Member>>();
  /** Members with heartbeats, and parked polls: what the sweep looks at. */
  readonly #beating = new Set<Member>();
  readonly #parked = new Set<Member>();
  #memberships = 0;
  #watched = 0;

  /** Rooms with at least one member. */
  get rooms(): number {
    return this.#rooms.size;
  }

  /** Room memberships (a connection in two rooms counts twice). */
  get memberships(): number {
    return this.#memberships;
  }

  /** Known connections (members, watched WebSockets, streams). */
  get connections(): number {
    return this.#members.size;
  }

  /** Connections whose handshake is kept (watched WebSockets). */
  get watched(): number {
    return this.#watched;
  }

  /** Drop `key`'s handshake: its close handler runs elsewhere (the client sent a close frame). */
  unwatch(key: string): void {
    const member = this.#members.get(key);
    if (member === undefined || member.handshake === undefined) return;
    member.handshake = undefined;
    this.#watched -= 1;
    if (member.rooms.size === 0 && member.heartbeatMs === 0) this.remove(key);
  }

  /** The record of `key`, if known. */
  get(key: string): Member | undefined {
    return this.#members.get(key);
  }

  /** Add a connection to `room` (null: only register it, e.g. for heartbeats). Its kind is the latest join's. */
  join(room: string | null, key: string, uuid: string, id: number, server: number, kind: ConnKind, options: RegistryJoin, now: number): Member {
    let member = this.#members.get(key);
    if (member === undefined) this.#members.set(key, (member = new Member(key, uuid, id, server, kind)));
    member.kind = kind;
    const beat = options.heartbeatMs ?? 0;
    if (beat > 0) {
      member.heartbeatMs = beat;
      member.nextBeat = now + beat;
      this.#beating.add(member);
    }
    if (kind === 'poll' && options.timeoutMs !== undefined && options.timeoutMs > 0) {
      member.deadline = now + options.timeoutMs;
      member.timeoutReply = options.timeoutReply;
      this.#parked.add(member);
    }
    if (room !== null && !member.rooms.has(room)) {
      member.rooms.add(room);
      let members = this.#rooms.get(room);
      if (members === undefined) this.#rooms.set(room, (members = new Map()));
      members.set(key, member);
      this.#memberships += 1;
    }
    return member;
  }

  /** Keep a WebSocket's handshake (to run its `close` handler when the client drops). */
  watch(key: string, uuid: string, id: number, server: number, handshake: Buffer): void {
    let member = this.#members.get(key);
    if (member === undefined) this.#members.set(key, (member = new Member(key, uuid, id, server, 'websocket')));
    if (member.handshake === undefined) this.#watched += 1;
    member.handshake = handshake;
  }

  /** Take `key` out of `room`, or out of every room (null). A connection with nothing left is forgotten. */
  leave(room: string | null, key: string): void {
    const member = this.#members.get(key);
    if (member === undefined) return;
    for (const r of room === null ? [...member.rooms] : [room]) this.#leaveRoom(member, r);
    if (member.rooms.size === 0 && member.handshake === undefined && member.heartbeatMs === 0) this.remove(key);
  }

  /** Forget `key` entirely (its client went away): returns its record, if it was known. */
  remove(key: string): Member | undefined {
    const member = this.#members.get(key);
    if (member === undefined) return undefined;
    for (const room of [...member.rooms]) this.#leaveRoom(member, room);
    this.#members.delete(key);
    if (member.handshake !== undefined) this.#watched -= 1;
    this.#beating.delete(member);
    this.#parked.delete(member);
    return member;
  }

  /** Members of `room` in join order. */
  members(room: string): Member[] {
    return [...(this.#rooms.get(room)?.values() ?? [])];
  }

  /** Members of `room` grouped by server, UUID and kind, each in join order, without `except`. */
  groups(room: string, except: string | undefined): MemberGroup[] {
    const members = this.#rooms.get(room);
    if (members === undefined) return [];
    const groups = new Map<string, MemberGroup>();
    for (const member of members.values()) {
      if (member.key === except) continue;
      const id = `${member.server}\u0000${member.uuid}\u0000${member.kind}`;
      let group = groups.get(id);
      if (group === undefined) groups.set(id, (group = { server: member.server, uuid: member.uuid, kind: member.kind, ids: [], members: [] }));
      group.ids.push(member.id);
      group.members.push(member);
    }
    return [...groups.values()];
  }

  /** SSE members whose heartbeat is due, grouped like {@link groups}; their next beat is scheduled. */
  dueHeartbeats(now: number): MemberGroup[] {
    const groups = new Map<string, MemberGroup>();
    for (const member of this.#beating) {
      if (member.nextBeat > now) continue;
      member.nextBeat = now + member.heartbeatMs;
      const id = `${member.server}\u0000${member.uuid}`;
      let group = groups.get(id);
      if (group === undefined) groups.set(id, (group = { server: member.server, uuid: member.uuid, kind: member.kind, ids: [], members: [] }));
      group.ids.push(member.id);
      group.members.push(member);
    }
    return [...groups.values()];
  }

  /** Parked polls past their deadline (the caller answers and removes them). */
  expiredPolls(now: number): Member[] {
    const out: Member[] = [];
    for (const member of this.#parked) if (member.deadline <= now) out.push(member);
    return out;
  }

  #leaveRoom(member: Member, room: string): void {
    if (!member.rooms.delete(room)) return;
    this.#memberships -= 1;
    const members = this.#rooms.get(room);
    if (members === undefined) return;
    members.delete(member.key);
    if (members.size === 0) this.#rooms.delete(room);
  }
}
