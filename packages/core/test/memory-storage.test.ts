import { MemoryStorage } from '@sealdoc/core';
import { storageConformance } from '@sealdoc/core/testing/conformance';

storageConformance('MemoryStorage', async () => ({ storage: new MemoryStorage() }));
