/**
 * Set-up of the lab tiers: the lab closes the ssh masters pvx keeps in the folders it is told of,
 * as `pvx lab …` tells it; tests that call the lab directly tell it the same folders.
 */
import { controlDirs } from '../../src/commands/lab/control-dirs.js';
import { setSshControlDirs } from '../../src/lab/index.js';

setSshControlDirs(controlDirs());
