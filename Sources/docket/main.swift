import DocketCommands
import Foundation

exit(DocketCLI.run(Array(CommandLine.arguments.dropFirst()), context: .live()))
