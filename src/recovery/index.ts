export { CardRecovery, RecoveryError, type CardRecoveryOptions, type CardRecoveryEvents } from './card-recovery.js';
export { type CardJournal, type JournalEntry, MemoryJournal } from './journal.js';
export { RedisJournal, type RedisJournalOptions } from './redis-journal.js';
export { RECOVERED_MARKER_ID, type RecoveredCard } from './close-orphan.js';
