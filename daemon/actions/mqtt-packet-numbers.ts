/**
 * mqtt-packet's number cache, switched off before the first packet is written. Imported for its
 * effect by mqtt-client.ts and embedded-broker.ts, the modules that load mqtt.js and aedes: they
 * share the one mqtt-packet, whose `writeToStream.cacheNumbers` is module-wide. Where it stands
 * among their imports does not matter: mqtt-packet builds the cache on its first packet, not
 * when it loads.
 *
 * Why: by default mqtt-packet builds, on its first packet, a 2-byte Buffer for every number a
 * packet can carry (0..65535: packet ids, topic lengths): 7.5 MB of heap and 1 MB outside it, and
 * 65,536 objects that every full collection marks for the life of the process (a sixth of the
 * daemon's heap objects). It saves one 2-byte allocation per number written, at the few packets a
 * second a device sends. On a 2 GB budget the memory is worth more (BENCHMARKS.md, 2026-12-05).
 */
import mqttPacket from 'mqtt-packet';

mqttPacket.writeToStream.cacheNumbers = false;
