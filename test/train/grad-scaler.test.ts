// GradScaler on the CPU reference backend (the shared suite: PyTorch's rules
// as a property, overflow with AdamW, errors, readbacks, ledger).

import * as g from '../../src/index.js';
import { gradScalerSuite } from './helpers/grad-scaler-suite.js';

gradScalerSuite('cpu', new g.CpuBackend(), { propertyRuns: 200 });
