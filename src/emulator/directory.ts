/**
 * The people and conversations of the emulated tenant (issue 12): users, each app's bot, the p2p chat of
 * every user with every bot, and group chats. A user has one `user_id` and `union_id` in the tenant and an
 * `open_id` per app, as on Feishu (an open_id names a user to one app only).
 */
import { createHash } from 'node:crypto';

export interface EmulatorUser {
  /** Tenant-wide id, e.g. `u_you`. */
  userId: string;
  name: string;
}

export interface EmulatorChat {
  chatId: string;
  type: 'p2p' | 'group';
  name: string;
  /** The users in the chat (every app's bot is in every group; a p2p chat has one user and one bot). */
  userIds: string[];
  /** The bot of a p2p chat; null for a group. */
  appId: string | null;
}

/** The default user: the developer typing into the preview page. */
export const DEFAULT_USER: EmulatorUser = { userId: 'u_you', name: 'You' };

function hex(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

/** The user's open_id for one app (stable: the same user and app always give the same id). */
export function openIdOf(userId: string, appId: string): string {
  return `ou_${hex('open', appId, userId)}`;
}

export function unionIdOf(userId: string): string {
  return `on_${hex('union', userId)}`;
}

export class Directory {
  readonly users = new Map<string, EmulatorUser>();
  readonly chats = new Map<string, EmulatorChat>();
  /** Apps whose p2p chats exist. */
  readonly #apps = new Set<string>();

  constructor() {
    this.addUser(DEFAULT_USER);
    this.addGroup({ chatId: `oc_${hex('group', 'default')}`, name: 'Emulator group' });
  }

  /** Adds a user (and their p2p chat with every bot known); a user id already known is refused. */
  addUser(user: EmulatorUser): EmulatorUser {
    if (this.users.has(user.userId)) throw new RangeError(`user ${user.userId} already exists`);
    this.users.set(user.userId, { ...user });
    for (const appId of this.#apps) this.#p2p(user.userId, appId);
    return user;
  }

  /** Adds a group chat with the given users (default: the default user); every bot is in it. */
  addGroup(group: { chatId: string; name: string; userIds?: string[] }): EmulatorChat {
    if (this.chats.has(group.chatId)) throw new RangeError(`chat ${group.chatId} already exists`);
    const userIds = group.userIds ?? [DEFAULT_USER.userId];
    for (const id of userIds) if (!this.users.has(id)) throw new RangeError(`no user ${id}`);
    const chat: EmulatorChat = { chatId: group.chatId, type: 'group', name: group.name, userIds: [...userIds], appId: null };
    this.chats.set(chat.chatId, chat);
    return chat;
  }

  /** An app was registered: its bot gets a p2p chat with every user. */
  addApp(appId: string): void {
    if (this.#apps.has(appId)) return;
    this.#apps.add(appId);
    for (const userId of this.users.keys()) this.#p2p(userId, appId);
  }

  /** The p2p chat of a user with an app's bot. */
  p2pChat(userId: string, appId: string): EmulatorChat | undefined {
    return this.chats.get(p2pChatId(userId, appId));
  }

  /** The bots that receive a message posted in `chat`: the p2p chat's bot, or every bot for a group. */
  botsOf(chat: EmulatorChat): string[] {
    return chat.appId !== null ? [chat.appId] : [...this.#apps];
  }

  #p2p(userId: string, appId: string): void {
    const chatId = p2pChatId(userId, appId);
    if (this.chats.has(chatId)) return;
    const user = this.users.get(userId)!;
    this.chats.set(chatId, { chatId, type: 'p2p', name: `${user.name} · ${appId}`, userIds: [userId], appId });
  }
}

export function p2pChatId(userId: string, appId: string): string {
  return `oc_${hex('p2p', appId, userId)}`;
}
