#!/usr/bin/env node
// Prints one line identifying the native TensorFlow build behind @tensorflow/tfjs-node, e.g.
// "tf-native 2.21.0 tfjs-node 4.22.0", or "tf-native-missing". It only reads the marker that
// `npm run setup` (scripts/setup.mjs) writes, so it is fast and loads no TensorFlow: used as an
// Nx cache runtime input.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const marker = fileURLToPath(new URL('../node_modules/.growlab/tf-native.json', import.meta.url));
let line = 'tf-native-missing';
try {
  const m = JSON.parse(readFileSync(marker, 'utf8'));
  if (m.backend === 'tensorflow' && m.tfVersion && m.tfjsVersion) {
    line = `tf-native ${m.tfVersion} tfjs-node ${m.tfjsVersion}`;
  }
} catch {
  // absent or unreadable: keep "tf-native-missing"
}
console.log(line);
