import { MemoryStorage } from '@sealdoc/core';
import { storageConformance } from '../../../test/conformance/storage.js';

storageConformance('MemoryStorage', async () => ({ storage: new MemoryStorage() }));
