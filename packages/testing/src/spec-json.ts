// The loosely typed JSON the emulator hands to specs: events from its accessors and the test
// client's answers. A spec reads whichever fields the behaviour under test should produce (its lint
// configuration allows that); the emulator itself reads every field of a request or an answer as
// `unknown` and narrows it.
import type { MatrixEvent as StoredEvent } from './homeserver/rooms';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the one loose type, so specs can read JSON answers field by field
export type SpecJson = any;

/** An event as the emulator's accessors hand it to specs. */
export interface SpecEvent extends Omit<StoredEvent, 'content' | 'unsigned'> {
  content: Record<string, SpecJson>;
  unsigned: Record<string, SpecJson>;
}
