/**
 * The people and conversations of the emulated tenants (issue 12, issue 14): users, each app's bot, the p2p chat
 * of every user with every bot of the user's tenant, and group chats. A user has one `user_id` and `union_id` and
 * an `open_id` per app, as on Feishu (an open_id names a user to one app only). Everything belongs to one tenant
 * (`tenantKey`, default `emulator_tenant`): a custom app's bot is in its own tenant's chats, a store app's bot in
 * the chats of every tenant it is installed in.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_TENANT_KEY } from './options.js';

export interface EmulatorUser {
  /** Emulator-wide id, e.g. `u_you`. */
  userId: string;
  name: string;
  /** The user's tenant. Default (when adding) `emulator_tenant`. */
  tenantKey?: string;
}

export interface EmulatorChat {
  chatId: string;
  type: 'p2p' | 'group';
  name: string;
  /** The users in the chat (a p2p chat has one user and one bot). */
  userIds: string[];
  /** The bot of a p2p chat; null for a group (every bot of the group's tenant is in it). */
  appId: string | null;
  /** The tenant the chat belongs to: its events carry this `tenant_key`. */
  tenantKey: string;
}

/** The default user: the developer typing into the preview page. */
export const DEFAULT_USER: Required<EmulatorUser> = { userId: 'u_you', name: 'You', tenantKey: DEFAULT_TENANT_KEY };

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
  readonly users = new Map<string, Required<EmulatorUser>>();
  readonly chats = new Map<string, EmulatorChat>();
  /** Apps whose bots exist, each with the tenants it is in. */
  readonly #apps = new Map<string, Set<string>>();

  constructor() {
    this.addUser(DEFAULT_USER);
    this.addGroup({ chatId: `oc_${hex('group', 'default')}`, name: 'Emulator group', tenantKey: DEFAULT_TENANT_KEY });
  }

  /** Adds a user (and their p2p chat with every bot of their tenant); a user id already known is refused. */
  addUser(user: Required<EmulatorUser>): Required<EmulatorUser> {
    if (this.users.has(user.userId)) throw new RangeError(`user ${user.userId} already exists`);
    this.users.set(user.userId, { ...user });
    for (const [appId, tenants] of this.#apps) if (tenants.has(user.tenantKey)) this.#p2p(user.userId, appId);
    return user;
  }

  /**
   * Adds a group chat of a tenant with the given users (default: the tenant's first user, none if it has
   * none), who must be users of that tenant; every bot of the tenant is in it.
   */
  addGroup(group: { chatId: string; name: string; userIds?: string[]; tenantKey: string }): EmulatorChat {
    if (this.chats.has(group.chatId)) throw new RangeError(`chat ${group.chatId} already exists`);
    const firstUser = [...this.users.values()].find((user) => user.tenantKey === group.tenantKey);
    const userIds = group.userIds ?? (firstUser ? [firstUser.userId] : []);
    for (const id of userIds) {
      const user = this.users.get(id);
      if (!user) throw new RangeError(`no user ${id}`);
      if (user.tenantKey !== group.tenantKey) throw new RangeError(`user ${id} is in tenant ${user.tenantKey}, not ${group.tenantKey}`);
    }
    const chat: EmulatorChat = { chatId: group.chatId, type: 'group', name: group.name, userIds: [...userIds], appId: null, tenantKey: group.tenantKey };
    this.chats.set(chat.chatId, chat);
    return chat;
  }

  /** An app was registered in `tenantKeys`: its bot gets a p2p chat with every user of those tenants. */
  addApp(appId: string, tenantKeys: readonly string[]): void {
    let tenants = this.#apps.get(appId);
    if (!tenants) this.#apps.set(appId, (tenants = new Set()));
    for (const tenantKey of tenantKeys) tenants.add(tenantKey);
    for (const user of this.users.values()) if (tenants.has(user.tenantKey)) this.#p2p(user.userId, appId);
  }

  /** The p2p chat of a user with an app's bot. */
  p2pChat(userId: string, appId: string): EmulatorChat | undefined {
    return this.chats.get(p2pChatId(userId, appId));
  }

  /** The bots that receive a message posted in `chat`: the p2p chat's bot, or every bot of the group's tenant. */
  botsOf(chat: EmulatorChat): string[] {
    if (chat.appId !== null) return [chat.appId];
    return [...this.#apps].filter(([, tenants]) => tenants.has(chat.tenantKey)).map(([appId]) => appId);
  }

  /** The first user of a tenant, if it has any. */
  firstUserOf(tenantKey: string): Required<EmulatorUser> | undefined {
    return [...this.users.values()].find((user) => user.tenantKey === tenantKey);
  }

  #p2p(userId: string, appId: string): void {
    const chatId = p2pChatId(userId, appId);
    if (this.chats.has(chatId)) return;
    const user = this.users.get(userId)!;
    this.chats.set(chatId, { chatId, type: 'p2p', name: `${user.name} · ${appId}`, userIds: [userId], appId, tenantKey: user.tenantKey });
  }
}

export function p2pChatId(userId: string, appId: string): string {
  return `oc_${hex('p2p', appId, userId)}`;
}
