/**
 * What the two datasets are made of: the files of each split in the publishers' layouts, their expected digests,
 * the canonical download addresses with the published MD5s, class names and image shapes. One table, used by the
 * loaders (SHA-256 of every file they read) and by the downloader (MD5 of what it fetches).
 *
 * Layout of a data folder (the same as `shared/datasets`):
 *   cifar-10-batches-bin/data_batch_{1..5}.bin, test_batch.bin, batches.meta.txt   (or cifar-10-binary.tar.gz)
 *   fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
 */

export const datasetNames = ["cifar10", "fashion-mnist"] as const
export type DatasetName = typeof datasetNames[number]

export const splits = ["train", "test"] as const
export type Split = typeof splits[number]

export interface SourceFile {
  /** Path relative to the data folder (also the name written in SHA256SUMS). */
  readonly path: string
  /** SHA-256 of the file (checked on every load). */
  readonly sha256: string
  /** Published MD5, for the files that are downloaded one by one. */
  readonly md5?: string
}

export interface CifarSplit {
  /** Batch files in split order (record r of batch k has source index k * 10000 + r). */
  readonly batches: ReadonlyArray<SourceFile>
}

export interface IdxSplit {
  readonly images: SourceFile
  readonly labels: SourceFile
  readonly count: number
}

export interface Download {
  readonly url: string
  /** Where it is saved, relative to the cache folder. */
  readonly path: string
  readonly md5: string
}

export const CIFAR10_DIR = "cifar-10-batches-bin"
export const CIFAR10_META = `${CIFAR10_DIR}/batches.meta.txt`
export const CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"
/** Records per batch file; each record is 1 label byte then 1024 R, 1024 G, 1024 B bytes (row-major planes). */
export const CIFAR10_BATCH_RECORDS = 10_000
export const CIFAR10_RECORD_BYTES = 1 + 32 * 32 * 3
export const CIFAR10_SHAPE = [32, 32, 3] as const
export const CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"] as const

/**
 * SHA-256 of the binary-version batch files. The files have no header, so their bytes are fixed by the records,
 * which are the official ones in the official order (shared/datasets/README.md). `batches.meta.txt` is checked by
 * content (the ten class names) instead: copies differ in trailing blank lines.
 */
export const cifar10: Readonly<Record<Split, CifarSplit>> & { readonly download: Download } = {
  train: {
    batches: [
      { path: `${CIFAR10_DIR}/data_batch_1.bin`, sha256: "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5" },
      { path: `${CIFAR10_DIR}/data_batch_2.bin`, sha256: "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed" },
      { path: `${CIFAR10_DIR}/data_batch_3.bin`, sha256: "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67" },
      { path: `${CIFAR10_DIR}/data_batch_4.bin`, sha256: "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48" },
      { path: `${CIFAR10_DIR}/data_batch_5.bin`, sha256: "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add" }
    ]
  },
  test: {
    batches: [
      { path: `${CIFAR10_DIR}/test_batch.bin`, sha256: "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b" }
    ]
  },
  download: {
    url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    path: CIFAR10_ARCHIVE,
    md5: "c32a1d4ab5d03f1284b67883e8d87530"
  }
}

export const FASHION_DIR = "fashion-mnist"
export const FASHION_BASE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"
export const FASHION_SHAPE = [28, 28, 1] as const
export const FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"] as const
/** IDX magic numbers: 0x00000803 (unsigned byte, 3 dimensions) and 0x00000801 (unsigned byte, 1 dimension). */
export const IDX_IMAGES_MAGIC = 2051
export const IDX_LABELS_MAGIC = 2049

/** The four official `.gz` files, byte for byte (SHA-256 measured on them; MD5 as published by Zalando). */
export const fashionMnist: Readonly<Record<Split, IdxSplit>> = {
  train: {
    images: { path: `${FASHION_DIR}/train-images-idx3-ubyte.gz`, sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d" },
    labels: { path: `${FASHION_DIR}/train-labels-idx1-ubyte.gz`, sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", md5: "25c81989df183df01b3e8a0aad5dffbe" },
    count: 60_000
  },
  test: {
    images: { path: `${FASHION_DIR}/t10k-images-idx3-ubyte.gz`, sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", md5: "bef4ecab320f06d8554ea6380940ec79" },
    labels: { path: `${FASHION_DIR}/t10k-labels-idx1-ubyte.gz`, sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", md5: "bb300cfdad3c16e7a12a480ee83cd310" },
    count: 10_000
  }
}

/** Download list of Fashion-MNIST: one file at a time from the publisher's bucket. */
export const fashionDownloads: ReadonlyArray<Download> = splits.flatMap((s) =>
  [fashionMnist[s].images, fashionMnist[s].labels].map((f) => ({
    url: `${FASHION_BASE_URL}/${f.path.slice(FASHION_DIR.length + 1)}`,
    path: f.path,
    md5: f.md5!
  })))

/** The files a split is read from, relative to the data folder (what `sourceChecksum` covers). */
export const splitFiles = (dataset: DatasetName, split: Split): ReadonlyArray<SourceFile> =>
  dataset === "cifar10" ? cifar10[split].batches : [fashionMnist[split].images, fashionMnist[split].labels]

/** Every file a complete folder holds for a dataset. */
export const requiredFiles = (dataset: DatasetName): ReadonlyArray<string> =>
  dataset === "cifar10"
    ? [...cifar10.train.batches, ...cifar10.test.batches].map((f) => f.path).concat(CIFAR10_META)
    : splits.flatMap((s) => splitFiles(dataset, s).map((f) => f.path))

export const classNames = (dataset: DatasetName): ReadonlyArray<string> =>
  dataset === "cifar10" ? CIFAR10_CLASSES : FASHION_CLASSES

export const imageShape = (dataset: DatasetName): ReadonlyArray<number> =>
  dataset === "cifar10" ? CIFAR10_SHAPE : FASHION_SHAPE

export const splitCount = (dataset: DatasetName, split: Split): number =>
  dataset === "cifar10" ? cifar10[split].batches.length * CIFAR10_BATCH_RECORDS : fashionMnist[split].count
