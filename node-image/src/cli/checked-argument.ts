import { InvalidArgumentError } from 'commander'
import { userMessage } from '../peer/user-message.js'

/**
 * A commander argument parser that runs `check` before anything joins the network: the value
 * is kept as given, and a failed check becomes a usage error (exit 2) in the library's own words.
 */
export function checkedArgument (check: (text: string) => unknown): (text: string) => string {
  return text => {
    try {
      check(text)
      return text
    } catch (err) {
      throw new InvalidArgumentError(userMessage(err))
    }
  }
}
