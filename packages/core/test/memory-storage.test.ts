import { MemoryStorage } from '@sealdoc/core';
import { storageConformance } from '@sealdoc/core/testing';

storageConformance('MemoryStorage', async () => ({ storage: new MemoryStorage() }));
