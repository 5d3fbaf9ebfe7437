import DocketCommands
import Foundation

DocketCLI.prepareProcess()
exit(DocketCLI.run(Array(CommandLine.arguments.dropFirst()), context: .live()))
