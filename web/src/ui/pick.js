// What the person picked or dropped, as the share's file list [{path, file}]: a folder keeps its
// tree in the paths ("holiday/day 1/a.jpg"), single files are named by themselves.

// From an <input type="file" multiple> or <input type="file" webkitdirectory>.
export function filesFromInput(input) {
  return [...input.files].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}

// From a drop: folders are walked with the File and Directory Entries API.
export async function filesFromDrop(dataTransfer) {
  const entries = [...dataTransfer.items]
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry?.())
    .filter(Boolean);
  if (entries.length === 0) return [...dataTransfer.files].map((file) => ({ path: file.name, file }));
  const picked = [];
  for (const entry of entries) await walk(entry, picked);
  return picked;
}

async function walk(entry, picked) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    picked.push({ path: entry.fullPath.replace(/^\//, ''), file });
    return;
  }
  const reader = entry.createReader();
  // readEntries hands out a folder's entries in batches until it returns an empty one.
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, picked);
  }
}
