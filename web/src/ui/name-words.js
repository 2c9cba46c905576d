// Why a share's file list was refused for a file's name (the engine's errorKind 'bad-name', its
// rule from content.js NAME_RULES), in words a person can act on. The hostile name itself is not
// shown: showing it is what such a name is made for.
const RULE_WORDS = {
  'not-text': 'a name that is not valid text',
  length: 'a path that is empty or longer than 4096 bytes',
  depth: 'a path more than 32 folders deep',
  control: 'invisible control characters in its name',
  bidi: 'characters that reverse the direction of the text, which can make a program look like a picture or a document',
  invisible: 'zero-width characters in its name, which can make it look like another file',
  backslash: 'a backslash in its name, which Windows reads as a folder',
  colon: 'a colon in its name, which Windows reads as a drive or a hidden stream',
  'windows-character': 'one of < > " | ? * in its name, which Windows does not allow',
  'slash-lookalike': 'a character that looks like a slash, which makes the name pose as a folder',
  'dot-segment': 'a path that leads out of its folder (an empty, "." or ".." part)',
  'trailing-dot-space': 'a name ending in a dot or a space, which Windows drops',
  reserved: 'a name Windows keeps for devices (CON, PRN, AUX, NUL, CONIN$, CONOUT$, COM0–9, LPT0–9)',
  'segment-length': 'a name longer than 255 bytes',
  duplicate: 'the same name as another file (capitals and accents written differently count as the same)',
  'file-folder': 'the name of a folder that holds another file',
};

// The error box's text for state.errorDetail {rule, file}.
export function refusedNameText({ rule, file }) {
  const why = RULE_WORDS[rule] ?? 'a name that breaks the rules for file names';
  return `Nothing was downloaded: the sender’s list of files names file ${file + 1} with ${why}. `
    + 'Saving it could be unsafe, so this share was refused. Ask the sender to share again with a current version of swarmdrop.';
}
